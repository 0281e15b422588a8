"""The human-agent side: the queue, the agents and their console.

- `ownership`: who owns a conversation (bot, queue or one agent), race-safe, with its trail.
- `tickets`: the handoff records and the events of a handoff, in the database.
- `desk`: the live part: hands conversations to the queue, tells consoles and customers.
- `console`: the agent console's pages, API and websocket under /agent.
- `agents`, `hours`: agent accounts, business hours.
"""
