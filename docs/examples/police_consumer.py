"""A police unit's subscriber to Meldpunt Hub referrals, with plain pika.

Run it with the credentials `meldpunt liaison add UNIT` printed:

    MELDPUNT_AMQP=amqp://police-zwb-walcheren:PASSWORD@rabbit.example.nl:5672/%2F \
    MELDPUNT_UNIT=zwb-walcheren python police_consumer.py

The user may only read its own queue `police.referrals.<unit>`; it cannot declare or bind
anything, so this script only consumes. Messages are redelivered after a crash: deduplicate
on the `event_id` (also the AMQP message id). Fetch the incident's details with a
police_liaison API key: GET /api/v1/referrals/<referral_id>/details on the police liaison API.
"""
import json
import os

import pika


def handle(event: dict) -> None:
    p = event["payload"]
    print(f"{event['event_type']:<18} {event['municipality']} referral {p['referral_id']} "
          f"status={p.get('status')} urgency={p.get('urgency', '-')}")


def main() -> None:
    unit = os.environ["MELDPUNT_UNIT"]
    params = pika.URLParameters(os.environ["MELDPUNT_AMQP"])
    connection = pika.BlockingConnection(params)
    channel = connection.channel()
    channel.basic_qos(prefetch_count=10)
    seen = set()  # in production: a table of handled event ids

    def on_message(ch, method, properties, body):
        event = json.loads(body)
        if event["event_id"] not in seen:
            handle(event)
            seen.add(event["event_id"])
        ch.basic_ack(method.delivery_tag)  # ack only after handling: nothing is lost on a crash

    channel.basic_consume(queue=f"police.referrals.{unit}", on_message_callback=on_message)
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        channel.stop_consuming()
    connection.close()


if __name__ == "__main__":
    main()
