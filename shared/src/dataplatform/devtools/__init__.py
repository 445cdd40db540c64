"""Tools for working on the platform, started by its tests and benchmarks, never by a deployment:
each module runs one real server on loopback (`kafka_broker`: a Kafka broker) from the jars
`infrastructure/local/jvm.sh` brings."""
