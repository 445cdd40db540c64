"""A real Apache Kafka broker on loopback, single node in KRaft mode, for the Kafka bus tests and
the ingestion benchmark.

Its jars come from Maven Central through `infrastructure/local/jvm.sh` (which `make test` and
`make bench` run) into a cache folder outside the repository: `KAFKA_JARS`.
"""

import base64
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from dataplatform.core.connectors.bus.kafka import TOPIC_PREFIX
from dataplatform.devtools.jvm import JVM_CACHE, JVM_OPTIONS, JvmServer, missing_jars
from dataplatform.platform.collector import free_port

KAFKA_JARS = JVM_CACHE / "kafka"
# How long the broker has to create or delete topics before the caller is told it did not.
TOPIC_SECONDS = 30


def missing_kafka_jars() -> str | None:
    """Why no broker can start here, naming the script that brings its jars; None when one can."""
    return missing_jars("Kafka broker", KAFKA_JARS, "kafka_2.13-*.jar")


class KafkaBroker(JvmServer):
    """One Kafka process, broker and controller both, with its configuration and log in `folder`
    (formatted when made, with a new cluster id); a topic created without a count of partitions
    gets `partitions`.

    `start` launches `kafka.Kafka` and returns once the broker answers a metadata request;
    `restart` kills it with SIGKILL and starts it again on the same ports and log, as a crashed
    broker comes back.
    """

    name = "The Kafka broker"

    def __init__(self, jars: Path, folder: Path, partitions: int = 3) -> None:
        super().__init__(folder, free_port())
        self.classpath = f"{jars}/*"
        self.controller_port = free_port()
        self.bootstrap_servers = f"127.0.0.1:{self.port}"
        self._properties = folder / "server.properties"
        self._log_config = folder / "log4j2.properties"
        self._log = folder / "broker.log"
        self._write_configuration(partitions)
        self._format()

    def _write_configuration(self, partitions: int) -> None:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.bootstrap_servers},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.bootstrap_servers}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.folder / "data"),
            "num.partitions": str(partitions),
            # One node: every internal topic has one replica, and one in-sync replica is all.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "min.insync.replicas": "1",
            # A group's first member is assigned its partitions at once, not after 3 s.
            "group.initial.rebalance.delay.ms": "0",
        }
        self._properties.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        self._log_config.write_text(
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self._log}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
        )

    def _java(self, main_class: str, *arguments: str) -> list[str]:
        return [
            "java",
            *JVM_OPTIONS,
            f"-Dlog4j2.configurationFile={self._log_config}",
            "-cp",
            self.classpath,
            main_class,
            *arguments,
        ]

    def _format(self) -> None:
        """Write the log folder's identity (a new cluster id) and the first metadata."""
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        formatted = subprocess.run(  # noqa: S603 (java, with arguments made here)
            # `=`: a cluster id may start with `-`, which would read as an option.
            self._java(
                "kafka.tools.StorageTool",
                "format",
                f"--cluster-id={cluster_id}",
                f"--config={self._properties}",
            ),
            capture_output=True,
            check=False,
        )
        if formatted.returncode != 0:
            raise RuntimeError(
                f"Formatting the Kafka storage in {self.folder} failed:\n"
                f"{formatted.stdout.decode()}{formatted.stderr.decode()}"
            )

    def _answers(self) -> bool:
        # A refused connection costs nothing; only an open port is asked for metadata, which
        # keeps librdkafka from logging every refused attempt.
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                return False
        from confluent_kafka.admin import AdminClient

        try:
            metadata = AdminClient({"bootstrap.servers": self.bootstrap_servers}).list_topics(
                timeout=5
            )
        except Exception:  # not answering yet, whatever librdkafka calls it
            return False
        return bool(metadata.brokers)

    def _command(self) -> list[str]:
        return self._java("kafka.Kafka", str(self._properties))

    def _log_files(self) -> list[Path]:
        return [self._log]

    def restart(self) -> None:
        self.kill()
        self.start()

    def create_topic(self, topic: str, partitions: int) -> None:
        """Create `topic`, as an operator does before the platform uses it; return once the
        broker names a leader for each of its partitions (before that, a client asking for
        offsets is told `NOT_LEADER_FOR_PARTITION`)."""
        # NewTopic is documented here, but the package's type stubs do not re-export it.
        from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})
        created = admin.create_topics([NewTopic(topic, partitions, 1)])
        created[topic].result(timeout=TOPIC_SECONDS)
        deadline = time.monotonic() + TOPIC_SECONDS
        while not _led(admin.list_topics(topic, timeout=10).topics[topic].partitions, partitions):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"The Kafka broker has no metadata for the {partitions} partitions of "
                    f"`{topic}` {TOPIC_SECONDS} s after creating it; its log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def delete_bus_topics(self) -> None:
        """Delete every topic of the platform's bus and wait until the broker no longer has them."""
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.bootstrap_servers})

        def bus_topics() -> list[str]:
            listed = admin.list_topics(timeout=10).topics
            return [topic for topic in listed if topic.startswith(TOPIC_PREFIX)]

        doomed = bus_topics()
        for future in admin.delete_topics(doomed).values() if doomed else []:
            future.result(timeout=TOPIC_SECONDS)
        deadline = time.monotonic() + TOPIC_SECONDS
        while left := bus_topics():
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"The Kafka broker still has the topics {left} {TOPIC_SECONDS} s after "
                    f"deleting them; its log:\n{self.log_tail()}"
                )
            time.sleep(0.05)


def _led(known: dict[int, Any], partitions: int) -> bool:
    """Whether the metadata `known` names a leader, without error, for each of `partitions`."""
    return len(known) >= partitions and all(
        part.leader >= 0 and part.error is None for part in known.values()
    )
