"""Channel adapters (web widget, REST, Slack): each turns platform events into `engine.types
.Inbound` values and the engine's decisions back into platform calls, and does nothing else.

Empty until the web chat issue: the engine is reachable from the CLI only for now.
"""
