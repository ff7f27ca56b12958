"""MedCom FHIR messaging at Bridge's edge: read inbound messages, write acknowledgements.

The domain never sees FHIR: this package turns a Bundle into the plain data of
``bridge.domain.messaging.data`` and the domain's answer back into a Bundle.
"""
