"""The message pipeline and conversation state: the one place that decides what to say.

`engine` imports `kb` and nothing else of shopclerk's: never a channel, never `handoff`.
"""
