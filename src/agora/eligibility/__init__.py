"""Eligibility: the one answer to "may this asset be shown to this user now".

``agora.eligibility.rules`` holds the rules in their Python, SQL and numpy
forms; ``agora.eligibility.view`` the one in-process catalog view every
surface reads.
"""
