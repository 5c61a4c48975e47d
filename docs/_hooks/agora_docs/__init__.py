"""Generators and checks for Agora's documentation site (MkDocs hooks).

Every reference page is generated at build time from the code or data it
describes, never typed by hand:

- :mod:`agora_docs.openapi_pages`: the API reference, from the app's OpenAPI document;
- :mod:`agora_docs.settings_page`: the settings reference, from ``agora.config.Settings``;
- :mod:`agora_docs.cli_page`: the command-line reference, from the Typer app;
- :mod:`agora_docs.benchmark_page`: the benchmark tables, from ``benchmarks/results/*.json``;
- :mod:`agora_docs.offline`: the check that no built page loads an asset from the network.
"""
