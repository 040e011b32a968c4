"""The web dashboard: the desk console (operators) and the customer portal
(accounts), server-rendered under ``/ui`` on the same services as the API."""
