"""Tools for working on the platform, started by its tests and benchmarks, never by a deployment:
each module runs one real server on loopback from the jars `infrastructure/local/jvm.sh` brings
(`kafka_broker`: a Kafka broker; `s3_server`: an S3-compatible server), `jvm` what they share."""
