"""HTTP layer of the public API: connexion handlers (function name = snake_case operationId).

Handlers parse, call one service, render. They never touch the store directly.
"""
