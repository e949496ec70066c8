"""Everything the app and the command line share outside the engine: the preset file format
(`files`), dotted settings (`settings`), the search path (`library`), the autosaved session
(`session`), loading a name, file or Hugging Face config into a Scenario (`sources`), the paths
where things live (`paths`), reports (`report`), box detection (`detect`) and the local Hugging
Face cache (`hf_cache`). The bundled presets of real models are the TOML files in this folder."""
