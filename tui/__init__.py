"""The llmscope terminal app and command line: arranges and edits what `engine` computes."""
