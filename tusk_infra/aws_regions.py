"""The AWS regions botocore knows, offline: so a misspelt aws:region is caught at its own line, not later as a
zone or a cluster that seems to be elsewhere."""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources


@cache
def known_regions() -> frozenset[str]:
    """Every region of every AWS partition (aws, aws-cn, aws-us-gov, ...) the installed botocore lists."""
    try:
        return _regions_from_partitions_file()
    except (OSError, ValueError, KeyError, TypeError):
        # botocore moved or reshaped its data: the public API finds the same regions, only slower.
        return _regions_from_session()


def nearest_regions(text: str) -> list[str]:
    """The known regions closest to a misspelt one (compared in lower case), best first."""
    return difflib.get_close_matches(text.lower(), sorted(known_regions()), n=2, cutoff=0.75)


def _regions_from_partitions_file() -> frozenset[str]:
    # The file boto3's endpoint resolution reads. Reading it directly costs ~10 ms; building a boto3 Session
    # to ask get_available_regions costs ~0.4 s and 50 MB per process (measured), paid by every preview.
    text = resources.files("botocore").joinpath("data", "partitions.json").read_text(encoding="utf-8")
    partitions = json.loads(text)["partitions"]
    # Each partition also lists a pseudo-region for its global endpoints (aws-global): nothing deploys there.
    return frozenset(
        name for partition in partitions for name in partition["regions"] if not name.endswith("-global")
    )


def _regions_from_session() -> frozenset[str]:
    import boto3

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("ec2", partition_name=partition)
    )
