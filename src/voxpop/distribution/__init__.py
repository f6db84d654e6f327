"""Reaching customers: e-mail invitation runs (sends), their reminders, contact-frequency rules and triggers, and the send log."""
