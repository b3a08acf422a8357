"""Per-request costs of connexion 3.3 removed, found by profiling (README "Performance").

connexion re-inspects the handler's and the security function's signatures
(``inspect.signature``) on *every call* — five times per request, 10% of a list request — and
snake-cases every parameter name with three regex substitutions per request. Handlers and
parameter names never change at run time, so both answers are cached. The one thing a reader
might get wrong: this
patches a private helper of a pinned dependency (``connexion==3.3.0`` in pyproject.toml);
``tests/test_app.py`` checks the patch is in place and that handlers still receive their
arguments, so an upgrade that moves the helper fails loudly instead of silently slowing down.
"""

from __future__ import annotations

import functools

from connexion import security as connexion_security
from connexion import utils as connexion_utils
from connexion.decorators import parameter as connexion_parameter

_original = connexion_utils.inspect_function_arguments
_original_pythonic = connexion_parameter.pythonic
pythonic = functools.lru_cache(maxsize=4096)(_original_pythonic)


@functools.lru_cache(maxsize=None)
def _cached(function):
    arguments, has_kwargs = _original(function)
    return tuple(arguments), has_kwargs


def inspect_function_arguments(function):
    arguments, has_kwargs = _cached(function)
    return list(arguments), has_kwargs  # a fresh list, as the original returns: callers may mutate it


def install() -> None:
    connexion_parameter.inspect_function_arguments = inspect_function_arguments
    connexion_security.inspect_function_arguments = inspect_function_arguments
    connexion_parameter.pythonic = pythonic


def installed() -> bool:
    return (connexion_parameter.inspect_function_arguments is inspect_function_arguments
            and connexion_security.inspect_function_arguments is inspect_function_arguments
            and connexion_parameter.pythonic is pythonic)
