"""Helpers the tests share: builders that act through the public API, receivers, the MedCom
validator, database and browser plumbing. Test modules import from here, never from each other."""
