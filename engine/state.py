"""Transitional: the clock, the conversation tables and their store now live in
`engine.clock`, `engine.models` and `engine.store`. These names are re-exported only so that
branches written against the old module still import; new code imports from the new modules,
and this module goes once those branches are merged.
"""

from engine.clock import aware, utcnow
from engine.models import Conversation, ConversationKey, Customer, Feedback, Message, Role
from engine.store import HISTORY, ConversationStore

__all__ = [
    "HISTORY",
    "Conversation",
    "ConversationKey",
    "ConversationStore",
    "Customer",
    "Feedback",
    "Message",
    "Role",
    "aware",
    "utcnow",
]
