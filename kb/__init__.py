"""The store's knowledge: products, FAQ and orders; their embeddings, FAISS indexes and search.

`kb` imports none of shopclerk's other packages.
"""
