"""The client portfolio: accounts, contacts, interactions, tasks."""
