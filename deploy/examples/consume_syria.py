"""Read news.syria as another team would: plain aiokafka, read_committed, JSON values.

pip install aiokafka orjson
KAFKA=localhost:29092 python deploy/examples/consume_syria.py
# the customer's cluster: also KAFKA_USER, KAFKA_PASSWORD, KAFKA_CAFILE (SASL_SSL, SCRAM-SHA-512)
"""

import asyncio
import os

import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context


async def main() -> None:
    env = os.environ.get
    secure = (
        {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": env("KAFKA_USER"),
            "sasl_plain_password": env("KAFKA_PASSWORD"),
            "ssl_context": create_ssl_context(cafile=env("KAFKA_CAFILE")),
        }
        if env("KAFKA_USER")
        else {}
    )
    consumer = AIOKafkaConsumer(
        env("TOPIC", "news.syria"),
        bootstrap_servers=env("KAFKA", "localhost:29092"),
        group_id=env("GROUP", "syria-desk"),
        isolation_level="read_committed",  # committed transactions only: each article once
        auto_offset_reset="earliest",
        **secure,
    )
    await consumer.start()
    try:
        async for msg in consumer:  # key: article id; value: schemas/article.schema.json
            article = orjson.loads(msg.value)
            print(msg.key.decode(), article["tags"]["syria"]["grade"], article["title"], flush=True)
    finally:
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(main())
