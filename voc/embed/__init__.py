"""The embed widget: sites that may show voc surveys, the loader script, identity verification."""
