"""The learning loop: the store's own conversations train the model that answers them."""
