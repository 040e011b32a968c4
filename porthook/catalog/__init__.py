"""The event catalog (``GET /v1/event-types``): a layer above porting, records and delivery.

The catalog describes every event type with the payload models of porting and
records (the API's own ``...Public`` models) and renders examples through
delivery's real formats, so it imports all three. It sits above them, like
the dashboard: delivery turns events into calls and never reaches back up.
"""
