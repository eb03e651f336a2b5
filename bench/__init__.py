"""Load-test harness: measures what clinicians notice and what operators pay."""
