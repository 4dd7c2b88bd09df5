"""One ComponentResource per file: the Redis cluster, the Postgres primary or replica, the regional app."""

from tusk_infra.components.app import RegionalApp, RegionalAppArgs
from tusk_infra.components.postgres import PostgresCluster, PostgresClusterArgs
from tusk_infra.components.redis import RedisCluster, RedisClusterArgs

__all__ = [
    "PostgresCluster",
    "PostgresClusterArgs",
    "RedisCluster",
    "RedisClusterArgs",
    "RegionalApp",
    "RegionalAppArgs",
]
