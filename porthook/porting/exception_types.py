"""The catalogue of exception detail codes (PRODUCT.md, seed 001's vocabulary).

``LOA_ILLEGIBLE`` is not in PRODUCT.md's list but appears in seed 001's own
sample exception webhook (``001_eb60501d0a6d1371.txt``); it is accepted and
listed so that the seed's sample round-trips unchanged.
"""

from __future__ import annotations

EXCEPTION_TYPES: dict[str, str] = {
    "ACCOUNT_NUMBER_MISMATCH": "Account number does not match that on the CSR",
    "AUTH_PERSON_MISMATCH": "The authorized person does not match that on the CSR",
    "BTN_ATN_MISMATCH": "The billing telephone number does not match that on the CSR",
    "ENTITY_NAME_MISMATCH": "The business or end-user name does not match that on the CSR",
    "FOC_EXPIRED": "The FOC date passed before the numbers were activated",
    "FOC_REJECTED": "The losing carrier rejected the requested FOC date",
    "LOCATION_MISMATCH": "The service address does not match that on the CSR",
    "LSR_PENDING": "The local service request is pending with the losing carrier",
    "MAIN_BTN_PORTING": "The main billing number is porting: the rest of the account must "
                        "port too, or a new BTN must be designated",
    "OSP_IRRESPONSIVE": "The old service provider is not responding",
    "OTHER": "Another problem; see the order's comments",
    "PASSCODE_PIN_INVALID": "The port-out passcode or PIN is invalid",
    "PHONE_NUMBER_HAS_SPECIAL_FEATURE": "A number has a feature (e.g. DSL, hunt group) that "
                                        "must be removed before it can port",
    "PHONE_NUMBER_MISMATCH": "A number does not belong to the account on the CSR",
    "PHONE_NUMBER_NOT_PORTABLE": "A number cannot be ported",
    "PORT_TYPE_INCORRECT": "The port type (full or partial) is incorrect",
    "PORTING_ORDER_SPLIT_REQUIRED": "The OSP requires this Porting Order to be split and "
                                    "submitted as separate orders",
    "POSTAL_CODE_MISMATCH": "The postal code does not match that on the CSR",
    "RATE_CENTER_NOT_PORTABLE": "The rate center of a number is not portable",
    "SV_CONFLICT": "The subscription version conflicts with another port",
    "SV_UNKNOWN_FAILURE": "The subscription version failed for an unknown reason",
    "LOA_ILLEGIBLE": "The LOA is illegible",
}
