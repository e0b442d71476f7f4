package main

import "testing"

func TestParse(t *testing.T) {
	a, err := parse([]string{"--agent", "https://localhost:47801/", "--ca", "/x/ca.crt", "--view", "portal?q=region"})
	if err != nil {
		t.Fatal(err)
	}
	if a.AgentURL != "https://localhost:47801" || a.CAFile != "/x/ca.crt" || a.InitialView() != "portal?q=region" {
		t.Fatalf("%+v", a)
	}
	a, _ = parse(nil)
	if a.AgentURL != "https://localhost:47800" || a.InitialView() != "status" {
		t.Fatalf("defaults: %+v", a)
	}
	if _, err := parse([]string{"--bogus"}); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if userID() == "" {
		t.Fatal("no user id for the single-instance lock")
	}
}
