"""The human-agent side: the queue, the agents and their console.

- `ownership`: who owns a conversation (bot, queue or one agent), race-safe, with its trail.
- `tickets`: the handoff records and the events of a handoff, in the database.
- `desk`: the live part: hands conversations to the queue, tells consoles and customers; it
  builds its parts: `turns` (a customer's message, a model's answer streamed to it),
  `episodes` (how conversations end), `actions` (what agents do), `presence` (who is online),
  `board` (queue statuses, the consoles' board), `publisher` and `feed` (telling everyone),
  `customers` (the channels), `sweeper` (timers).
- `console`: the agent console's pages, API and websocket under /agent.
- `agents`, `hours`: agent accounts, business hours.
"""
