package recipient

import "time"

// ContainsCPR reports whether text holds something that reads as a CPR
// number: six digits of a real date (by the century rules, not after now),
// an optional dash or space, four digits, and no digit right before or
// after. Phone numbers in groups of two and ten-digit numbers whose date
// does not exist pass.
func ContainsCPR(text string, now time.Time) bool {
	isDigit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	for i := 0; i+10 <= len(text); i++ {
		if isDigit(i-1) || !isDigit(i) {
			continue
		}
		j := i
		for j < len(text) && j-i < 6 && isDigit(j) {
			j++
		}
		if j-i != 6 {
			continue
		}
		rest := j
		if rest < len(text) && (text[rest] == '-' || text[rest] == ' ') {
			rest++
		}
		k := rest
		for k < len(text) && k-rest < 4 && isDigit(k) {
			k++
		}
		if k-rest != 4 || isDigit(k) {
			continue
		}
		if _, ok := BirthDate(text[i:j]+text[rest:k], now); ok {
			return true
		}
	}
	return false
}
