"""Fixed wording of the grounded generator: intent titles, guides and canned turns.

Nothing here holds a figure (price, date, fee, delay): those only ever come from records.
"""

from __future__ import annotations

# What a quick-reply button says for an intent; sending it is understood as that intent.
INTENT_PROMPTS: dict[str, str] = {
    "cancel_order": "Cancel my order",
    "change_order": "Change my order",
    "change_shipping_address": "Change my delivery address",
    "check_cancellation_fee": "Is there a cancellation fee?",
    "check_invoice": "Check my invoice",
    "check_payment_methods": "Which payment methods do you accept?",
    "check_refund_policy": "What is your refund policy?",
    "complaint": "I want to make a complaint",
    "contact_customer_service": "How can I contact customer service?",
    "contact_human_agent": "Talk to a person",
    "create_account": "Create an account",
    "delete_account": "Delete my account",
    "delivery_options": "What delivery options are there?",
    "delivery_period": "How long does delivery take?",
    "edit_account": "Edit my account details",
    "get_invoice": "Get my invoice",
    "get_refund": "I want a refund",
    "newsletter_subscription": "Newsletter subscription",
    "payment_issue": "I have a problem with a payment",
    "place_order": "How do I place an order?",
    "recover_password": "I forgot my password",
    "registration_problems": "I can't register",
    "review": "Leave a review",
    "set_up_shipping_address": "Set up a delivery address",
    "switch_account": "Switch to another account",
    "track_order": "Where is my order?",
    "track_refund": "Where is my refund?",
    "product_info": "A question about a product",
}

# Step-by-step help for intents where the FAQ has nothing better.
GUIDES: dict[str, str] = {
    "place_order": (
        "Add the products you want to your basket, open the basket and choose Checkout. "
        "You can check out as a guest or log in; you will get a confirmation email with your "
        "order number."
    ),
    "create_account": (
        "Choose Sign up at the top of any page, enter your name, email address and a password, "
        "then confirm the email we send you."
    ),
    "edit_account": (
        "Log in and open Account settings: there you can change your name, addresses, password "
        "and email preferences."
    ),
    "switch_account": (
        "Log out from the account menu, then log in with the other account's email address."
    ),
    "set_up_shipping_address": (
        "Log in, open Account settings, then Addresses, and add the address; you can also enter "
        "a new one at checkout."
    ),
    "review": (
        "Open the product from your order email or from Orders in your account and choose "
        "Write a review."
    ),
}

GREETING = (
    "Hello! I can help with orders, deliveries, returns, refunds, payments, your account and "
    "our products. What can I do for you?"
)
THANKS = "You're welcome! Is there anything else I can help with?"
GOODBYE = "Goodbye, and thank you for visiting our shop!"
ABOUT_ME = (
    "I'm the shop's virtual assistant. I answer from our catalog, our help pages and your "
    "order records, and I can hand you to a person on our team at any time: just ask."
)
OUT_OF_SCOPE = (
    "I'm the shop's assistant, so I can only help with orders, deliveries, returns, refunds, "
    "payments, accounts and our products. Could you tell me what you need help with?"
)
UNSURE = "I'm not sure I understood. Did you mean one of these?"
NO_PRODUCT = (
    "I couldn't find a product matching that in our catalog. Could you give me its name or "
    "article number (for example OUT-1042)?"
)
ASK_ORDER_ID = (
    "Could you give me your order number? It looks like HP-123456 and is in your order "
    "confirmation email."
)
# An email alone proves nothing and reveals nothing: this reply is the same for any email.
ASK_ORDER_ID_WITH_EMAIL = (
    "Thanks. To keep orders private I also need the order number that goes with that email: "
    "it looks like HP-123456 and is in your order confirmation email."
)
PROOF_LOCKED = (
    "I can't look up orders in this chat for a while: there were too many tries with order "
    "numbers and emails that don't belong together. A person on our team can help you."
)
ASK_EMAIL = "To show you order {order_id}, please tell me the email address you used to place it."
MALFORMED_ORDER_ID = (
    '"{raw}" doesn\'t look like one of our order numbers: they are HP followed by six digits, '
    "like HP-123456. Could you check it?"
)
ORDER_NOT_FOUND = (
    "I couldn't find an order {order_id} for {whose}. Please check the number; if it is right, "
    "I can pass you to a person on our team."
)
WHICH_ORDER = "Which order do you mean?"
# What the bot says as it hands over. Not "they will reply here": when nobody is there, the desk
# says next that the answer comes by email (handoff/turns.py); the queue's status says the rest.
HANDOFF = {
    "customer_asked": "Of course. I'm passing this conversation to a person on our team.",
    "low_confidence": "I'm not sure I can answer this well, so I'm passing it to a person on "
    "our team.",
    "no_grounded_answer": "I don't have a reliable answer to that, so I'm passing it to a "
    "person on our team.",
    "repeated_failure": "Sorry I haven't been able to help. I'm passing this conversation to a "
    "person on our team.",
    "negative_sentiment": "I'm sorry about this. I'm passing this conversation to a person on "
    "our team right away.",
    "policy": "This is something a person on our team has to handle. I'm passing the "
    "conversation on.",
    "complaint": "I'm sorry about that. I'm passing this to a person on our team who can put "
    "it right.",
}
