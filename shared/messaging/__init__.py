"""Everything the hub does on RabbitMQ: topology, publishing, reliable consuming, dead letters."""
