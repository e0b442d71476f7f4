/*
 * Send sikkert – Smart Alert (OnMessageSend, SoftBlock) and the CPR detector.
 *
 * Plain ES5 in one file with no imports: classic Outlook runs it in its
 * JavaScript-only runtime (no DOM, no modules); new Outlook and Outlook on
 * the web load it from commands.html. The task pane loads it too, for the
 * detector (SendsikkertCPR).
 *
 * The rules are those of internal/recipient.FindCPR and BirthDate in
 * Go, kept in step by addin/testdata/cpr-vectors.json, which both test.
 */
(function (root) {
  'use strict';

  var MESSAGE = 'Mailen ser ud til at indeholde et CPR-nummer. Brug Send sikkert.';
  // The organisation's Smart Alert policy, filled in by the agent that
  // serves this file (internal/localapi, from the relay's policy made
  // stricter by the PC's ADMX policy): smartAlert false turns the check off
  // (ADMX), sendAnyway true lets the clerk send anyway (Outlook's "Send
  // alligevel" button, and a reason recorded through the pane). Served any
  // other way, the safe default stands: on, and no sending anyway.
  var POLICY = {"smartAlert":true,"sendAnyway":false}; // sendsikkert:policy
  // The custom property the pane sets once the clerk has given a reason to
  // send anyway; the next ordinary send goes through and removes it.
  var OVERRIDE = 'sendsikkertOverride';
  var OVERRIDE_MS = 30 * 60 * 1000;
  var UNREADABLE = 'Send sikkert kunne ikke kontrollere mailen for CPR-numre. Prøv at sende igen, eller brug Send sikkert.';
  // The compose button that opens the task pane (manifest control id).
  var PANE_COMMAND = 'sendsikkertCheckButton';

  var DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  function todayKey(now) {
    return now.getFullYear() * 10000 + (now.getMonth() + 1) * 100 + now.getDate();
  }

  // dateOK: whether six digits DDMMYY and the seventh digit d7 (as
  // character codes at s[i..i+5], d7) give a real date not after today
  // (as a yyyymmdd number). Plain arithmetic, no Date objects: it runs for
  // every ten-digit candidate in a 1 MB body.
  function dateOK(s, i, d7, today) {
    var day = (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;
    var month = (s.charCodeAt(i + 2) - 48) * 10 + s.charCodeAt(i + 3) - 48;
    var yy = (s.charCodeAt(i + 4) - 48) * 10 + s.charCodeAt(i + 5) - 48;
    var year;
    if (d7 <= 3) {
      year = 1900 + yy;
    } else if (d7 === 4 || d7 === 9) {
      year = yy <= 36 ? 2000 + yy : 1900 + yy;
    } else {
      year = yy <= 57 ? 2000 + yy : 1800 + yy;
    }
    if (month < 1 || month > 12 || day < 1) { return false; }
    var leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    var max = month === 2 && leap ? 29 : DAYS[month - 1];
    if (day > max) { return false; }
    return year * 10000 + month * 100 + day <= today;
  }

  // birthDate reports whether a 10-digit CPR number encodes a real date,
  // not after today, with the century from the seventh digit.
  function birthDate(cpr, now) {
    if (!/^[0-9]{10}$/.test(cpr)) { return false; }
    return dateOK(cpr, 0, cpr.charCodeAt(6) - 48, todayKey(now || new Date()));
  }

  // containsCPR reports whether text holds a CPR number: six digits (a real
  // date), an optional dash or space, four digits, with no digit on either
  // side. The regular expression finds candidates (fast even on a cold
  // start, which matters for a 1 MB body); the date decides.
  var CANDIDATE = /(^|[^0-9])(?:[0-2][0-9]|3[01])(?:0[1-9]|1[0-2])[0-9]{2}[- ]?[0-9]{4}(?![0-9])/g;
  function containsCPR(text, now) {
    return findCPR(text, now).length > 0;
  }

  // Words that, right before a number, say it is no CPR number (the
  // labels of internal/recipient.otherLabels, matched the same way).
  var LABELS = ['+45', '0045',
    'tlf', 'tlf.nr', 'tlfnr', 'telefon', 'telefonnr', 'telefonnummer', 'mobil', 'mobilnr', 'mobilnummer', 'fax',
    'reg.nr', 'reg. nr', 'regnr', 'reg', 'konto', 'kontonr', 'kontonummer',
    'kr', 'dkk', 'eur',
    'faktura', 'fakturanr', 'fakturanummer', 'ordre', 'ordrenr', 'ordrenummer'];
  var SEPARATORS = ' \t.:#-\u00a0';

  function digitAt(s, i) { var c = s.charCodeAt(i); return c >= 48 && c <= 57; }
  function letterAt(s, i) { var c = s.charCodeAt(i); return (c >= 65 && c <= 90) || (c >= 97 && c <= 122); }
  function lowerAscii(s) { return s.replace(/[A-Z]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) + 32); }); }

  // saysOtherwise: the text around the number at text[start:end] says it
  // is something else (Go: saysOtherwise).
  function saysOtherwise(text, start, end) {
    var p, n, i, l, after;
    if (start >= 2 && (text.charAt(start - 1) === '-' || text.charAt(start - 1) === '/')) {
      n = 0;
      for (p = start - 2; p >= 0 && digitAt(text, p); p--) { n++; }
      if (n === 2 || n === 4) { return true; }
    }
    p = start;
    while (p > 0 && SEPARATORS.indexOf(text.charAt(p - 1)) >= 0) { p--; }
    for (i = 0; i < LABELS.length; i++) {
      l = LABELS[i];
      if (p >= l.length && lowerAscii(text.slice(p - l.length, p)) === l) {
        var first = l.charAt(0);
        var alnum = (first >= 'a' && first <= 'z') || (first >= '0' && first <= '9');
        var at = p - l.length;
        if (at === 0 || !alnum || !(letterAt(text, at - 1) || digitAt(text, at - 1))) { return true; }
      }
    }
    if (text.charAt(end) === ',' && digitAt(text, end + 1)) { return true; }
    after = end;
    while (text.charAt(after) === ' ') { after++; }
    if (text.slice(after, after + 2) === ',-') { return true; }
    var tail = lowerAscii(text.slice(after, after + 3));
    if ((tail.slice(0, 2) === 'kr' && !letterAt(text, after + 2)) || (tail === 'dkk' && !letterAt(text, after + 3))) { return true; }
    return false;
  }

  // findCPR lists the CPR numbers in text, masked (DDMMYY-xxxx), with
  // where they start and end (Go: recipient.FindCPR).
  function findCPR(text, now) {
    var out = [];
    if (!text) { return out; }
    var today = todayKey(now || new Date());
    var re = new RegExp(CANDIDATE.source, 'g');
    var m;
    while ((m = re.exec(text)) !== null) {
      var at = m.index + m[1].length, end = m.index + m[0].length;
      if (dateOK(text, at, text.charCodeAt(end - 4) - 48, today) && !saysOtherwise(text, at, end)) {
        out.push({ start: at, end: end, masked: text.slice(at, at + 6) + '-xxxx' });
        re.lastIndex = end;
        continue;
      }
      // A candidate can begin right after this one's first character.
      re.lastIndex = at + 1;
    }
    return out;
  }

  // findings lists what an ordinary send would carry: each CPR number
  // found, masked, and where — "i emnet", "i brødteksten", or in the name
  // of an attachment (shown with the number masked).
  function findings(subject, body, attachmentNames, now) {
    now = now || new Date();
    var out = [], i, j, f, name;
    f = findCPR(subject, now);
    for (j = 0; j < f.length; j++) { out.push({ masked: f[j].masked, where: 'emnet', text: 'i emnet' }); }
    f = findCPR(body, now);
    for (j = 0; j < f.length; j++) { out.push({ masked: f[j].masked, where: 'brødteksten', text: 'i brødteksten' }); }
    for (i = 0; attachmentNames && i < attachmentNames.length; i++) {
      name = attachmentNames[i] || '';
      f = findCPR(name, now);
      for (j = f.length - 1; j >= 0; j--) { name = name.slice(0, f[j].start) + f[j].masked + name.slice(f[j].end); }
      for (j = 0; j < f.length; j++) { out.push({ masked: f[j].masked, where: 'vedhæftet filnavn', text: 'i filnavnet »' + name + '«' }); }
    }
    return out;
  }

  // decide: true when an ordinary send must be stopped.
  function decide(subject, body, attachmentNames, now) {
    return findings(subject, body, attachmentNames, now).length > 0;
  }

  // alertText words the alert: what was found, masked, and where (at most
  // three, then how many more), within Outlook's 500 characters.
  function alertText(found, sendAnyway) {
    var shown = [], i;
    for (i = 0; i < found.length && i < 3; i++) { shown.push(found[i].masked + ' ' + found[i].text); }
    var list = shown.join(', ');
    if (found.length > 3) { list += ' og ' + (found.length - 3) + ' mere'; }
    var text = 'Mailen ser ud til at indeholde ' + (found.length === 1 ? 'et CPR-nummer: ' : 'CPR-numre: ') + list + '. Brug Send sikkert.';
    if (sendAnyway) { text += ' Skal den sendes alligevel, så skriv begrundelsen i Send sikkert først.'; }
    return text.length > 500 ? text.slice(0, 497) + '…' : text;
  }

  function supported(version) {
    try {
      return Office.context.requirements.isSetSupported('Mailbox', version);
    } catch (e) {
      return false;
    }
  }

  function block(event, message, sendAnyway) {
    var opts = { allowEvent: false, errorMessage: message };
    if (supported('1.14')) {
      opts.cancelLabel = 'Åbn Send sikkert';
      opts.commandId = PANE_COMMAND;
      if (sendAnyway && Office.MailboxEnums && Office.MailboxEnums.SendModeOverride) {
        // Outlook's own "Send alligevel" button; the add-in is not told
        // when it is pressed, so the reason is taken in the pane.
        opts.sendModeOverride = Office.MailboxEnums.SendModeOverride.PromptUser;
      }
    }
    event.completed(opts);
  }

  // withOverride calls next(true) when the clerk has given a reason in the
  // pane for sending this item anyway (and removes that permission: it is
  // for the next send only), else next(false).
  function withOverride(item, next) {
    if (!POLICY.sendAnyway || !item.loadCustomPropertiesAsync) { next(false); return; }
    item.loadCustomPropertiesAsync(function (r) {
      if (r.status !== Office.AsyncResultStatus.Succeeded) { next(false); return; }
      var props = r.value, at = Date.parse(props.get(OVERRIDE) || '');
      if (!(at > 0) || Math.abs(Date.now() - at) > OVERRIDE_MS) { next(false); return; }
      props.remove(OVERRIDE);
      props.saveAsync(function () { next(true); });
    });
  }

  // onMessageSendHandler runs on every ordinary Send.
  function onMessageSendHandler(event) {
    if (POLICY.smartAlert === false) {
      event.completed({ allowEvent: true });
      return;
    }
    var item = Office.context.mailbox.item;
    withOverride(item, function (allowed) {
      if (allowed) { event.completed({ allowEvent: true }); return; }
      scan(event, item);
    });
  }

  function scan(event, item) {
    var failed = function () { block(event, UNREADABLE); };
    item.subject.getAsync(function (s) {
      if (s.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
      item.body.getAsync(Office.CoercionType.Text, function (b) {
        if (b.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
        var finish = function (names) {
          var found = findings(s.value, b.value, names, new Date());
          if (found.length) {
            var anyway = POLICY.sendAnyway && supported('1.14');
            block(event, alertText(found, anyway), anyway);
          } else {
            event.completed({ allowEvent: true });
          }
        };
        if (!supported('1.8') || !item.getAttachmentsAsync) { finish([]); return; }
        item.getAttachmentsAsync(function (a) {
          if (a.status !== Office.AsyncResultStatus.Succeeded) { failed(); return; }
          var names = [];
          for (var i = 0; i < a.value.length; i++) { names.push(a.value[i].name || ''); }
          finish(names);
        });
      });
    });
  }

  root.SendsikkertCPR = {
    containsCPR: containsCPR, findCPR: findCPR, findings: findings, birthDate: birthDate, decide: decide,
    alertText: alertText, MESSAGE: MESSAGE, POLICY: POLICY, OVERRIDE: OVERRIDE,
  };
  root.onMessageSendHandler = onMessageSendHandler;
  if (typeof Office !== 'undefined' && Office.actions && Office.actions.associate) {
    Office.actions.associate('onMessageSendHandler', onMessageSendHandler);
  }
})(typeof globalThis !== 'undefined' ? globalThis : (typeof self !== 'undefined' ? self : this));
