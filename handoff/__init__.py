"""The human-agent side: who owns a conversation (bot, queue or one agent), and the agents.

So far: `ownership` (race-safe transitions with their audit trail) and the agent table. The
queue's live view, the agent console and the bridge to the customer's channel come with the
rest of the handoff issue; until then no channel routes conversations here, and the bot keeps
answering every conversation (`Conversation.owner` stays "bot").
"""
