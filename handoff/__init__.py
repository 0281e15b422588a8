"""The human-agent queue: tickets, assignment, the agent console, the agent-to-customer bridge.

Empty until the handoff issue; today the engine's `Handoff(reason)` decisions are recorded with
each message (`engine.state.Message.handoff_reason`).
"""
