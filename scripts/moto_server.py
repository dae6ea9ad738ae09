"""moto's server with DynamoDB's writes atomic, as DynamoDB's are.

moto answers requests on several threads and checks a condition expression and writes the
item in two steps, so two conditional writes racing for one item can both succeed there,
which DynamoDB never allows. The state store's contract tests race such writes on purpose
(one claim winner, one cursor saver). Each DynamoDB backend operation runs under one lock
here; everything else is moto's own server, unchanged.
"""

import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_LOCK = threading.RLock()

for _name in (
    "put_item",
    "get_item",
    "query",
    "scan",
    "update_item",
    "delete_item",
    "transact_write_items",
):
    _original = getattr(DynamoDBBackend, _name)

    def _locked(self, *args, _original=_original, **kwargs):
        with _LOCK:
            return _original(self, *args, **kwargs)

    setattr(DynamoDBBackend, _name, _locked)

if __name__ == "__main__":
    main()
