"""The bottom layer every process shares: settings, logs, metrics, probes, ports and the
keys that seal job args. It imports none of the layers above it (detect, slack, commands)."""
