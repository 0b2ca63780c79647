"""A Redis cache backend with one connection pool per process.

Django builds a cache object per thread and per async context (ticket #35651), and each
RedisCache builds a client with a pool of its own. Under Channels every WebSocket runs in
a context of its own, so the stock backend opened one Redis connection per socket (1,016
connections for 1,000 sockets in bench/). The client and its pool are thread-safe, so
here every cache object of the process shares one per configuration.
"""

import threading

from django.core.cache.backends.redis import RedisCache
from django.utils.functional import cached_property

_clients: dict[tuple, object] = {}
_lock = threading.Lock()


class SharedRedisCache(RedisCache):
    @cached_property
    def _cache(self):
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(self._servers, **self._options)
        return client
