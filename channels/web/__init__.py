"""The website channel: the widget's websocket, a REST API, and the widget's static files.

Both endpoints only translate: a client frame becomes an `engine.types.Inbound` handed to the
injected `handle` callback, and stored messages become frames (docs/websocket-protocol.md).
"""
