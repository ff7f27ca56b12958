"""Messages received from other organisations (MedCom), and the patient's message threads."""
