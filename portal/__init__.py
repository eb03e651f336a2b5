"""The patient and doctor portal: registration, tokens, queues, dashboards. Never imports the media plane."""
