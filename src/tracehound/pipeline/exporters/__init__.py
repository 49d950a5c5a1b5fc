"""Exporters shipped with tracehound (each imported lazily by the runtime)."""
