"""Security questionnaires: blank templates, readers for YAML/CSV/XLSX, the importer and synth writer."""
