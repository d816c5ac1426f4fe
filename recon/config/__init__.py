"""``recon.toml``: parsed and checked once (``toml``), with the provider kinds' keys (``providers``).

Secrets never live here: a system names the environment variable or file that holds its token.
"""

from recon.config.toml import (
    Config,
    EngineConfig,
    ReconcileConfig,
    SystemConfig,
    load_config,
    parse_config,
)

__all__ = ["Config", "EngineConfig", "ReconcileConfig", "SystemConfig", "load_config", "parse_config"]
