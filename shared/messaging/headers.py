"""AMQP headers the hub adds to a message on its way through retries and the dead-letter queue."""

ATTEMPT = "x-meldpunt-attempt"          # failed attempts so far
QUEUE = "x-meldpunt-queue"              # the consumer queue the message belongs to (replay target)
SERVICE = "x-meldpunt-service"          # the consuming service
EVENT_TYPE = "x-meldpunt-event-type"
ERROR = "x-meldpunt-error"              # the last error, one line (no message content)
FAILED_AT = "x-meldpunt-failed-at"
REPLAYED = "x-meldpunt-replayed"        # how often an operator replayed it from the DLQ
CORRELATION_ID = "x-meldpunt-correlation-id"
