"""Strict request and response models: unknown fields are refused, no type is coerced.

The licence is the JSON object ``edl.model.Licence.from_json`` reads (dates as ISO 8601
strings: an int where a date goes is refused there, 422). The holder's device key is the
base64 of its DER SubjectPublicKeyInfo (an EC P-256 key: the PEM body without its armour);
``signature`` is base64 of the raw ES256 signature r||s (64 bytes) by that key over the
nonce's ASCII bytes: the proof that the phone holds the key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChangeRequest",
    "ChangeResponse",
    "ErrorResponse",
    "Health",
    "IssueRequest",
    "IssueResponse",
    "NonceResponse",
    "PublicMaterial",
    "PublishRequest",
    "PublishResponse",
    "RebindRequest",
    "RevokeRequest",
]

STRICT = ConfigDict(extra="forbid", strict=True)

LICENCE_EXAMPLE: dict[str, Any] = {
    "family_name": "Zhang",
    "given_name": "Wei",
    "birth_date": "1990-01-02",
    "issue_date": "2026-01-05",
    "expiry_date": "2036-01-05",
    "issuing_country": "CN",
    "issuing_authority": "Qingdao Public Security Bureau",
    "document_number": "QD-0001",
    "portrait": "<base64 JPEG>",
    "driving_privileges": [{"vehicle_category_code": "C1", "issue_date": "2026-01-05"}],
    "un_distinguishing_sign": "CN",
}


class ErrorResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {"code": "nonce_used", "message": "the nonce was used already: ask for a new one"}
        }
    )
    code: str = Field(description="stable, the library's code where one exists (e.g. revoked, unknown_city)")
    message: str = Field(description="a sentence for a person")


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"status": "ok"}})
    status: str


class NonceResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "nonce": "b0pBq1H4pQy7mB1cK3yX1Q6f9yRzW2kM8nT5vD0eJ4s",
                "expires": "2026-12-06T05:05:00Z",
            }
        }
    )
    nonce: str
    expires: str


class IssueRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "example": {
                "licence": LICENCE_EXAMPLE,
                "device_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...",
                "nonce": "b0pBq1H4pQy7mB1cK3yX1Q6f9yRzW2kM8nT5vD0eJ4s",
                "signature": "<base64 of r||s, 64 bytes>",
            }
        },
    )
    licence: dict[str, Any] = Field(description="the licence JSON, as edl.model.Licence.from_json reads it")
    device_key: str = Field(max_length=4096, description="base64 DER SubjectPublicKeyInfo, EC P-256")
    nonce: str = Field(max_length=128, description="from POST /v1/cities/{city}/nonce, single use")
    signature: str = Field(max_length=512, description="base64 ES256 r||s over the nonce's ASCII bytes")


class IssueResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "city": "cn-qingdao",
                "document_number": "QD-0001",
                "signer_kid": "3f2a...",
                "issued": "2026-12-06T05:00:00Z",
                "valid_until": "2027-12-06T05:00:00Z",
                "status_list": 1,
                "status_idx": 5,
                "status_uri": "urn:edl:status:cn-qingdao:1",
                "mdoc": "<base64 IssuerSigned>",
                "compact": {"roadside": "<base64>", "age-check": "<base64>", "rental": "<base64>"},
                "thumbnail": "<base64 JPEG>",
                "state": "valid",
            }
        }
    )
    city: str
    document_number: str
    signer_kid: str
    issued: str
    valid_until: str
    status_list: int
    status_idx: int
    status_uri: str
    mdoc: str
    compact: dict[str, str]
    thumbnail: str
    state: str = Field(description="valid, suspended or revoked (as the status list says once published)")


class RebindRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "example": {
                "device_key": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE...",
                "nonce": "Vb3x8Q1mZr0tL2pK9wY6cN4hJ7sD5fA0uE1gH3iB2kM",
                "signature": "<base64 of r||s by the NEW key, 64 bytes>",
            }
        },
    )
    device_key: str = Field(
        max_length=4096, description="the new phone's key: base64 DER SubjectPublicKeyInfo, P-256"
    )
    nonce: str = Field(max_length=128, description="a fresh nonce from POST /v1/cities/{city}/nonce")
    signature: str = Field(max_length=512, description="base64 ES256 r||s by the new key over the nonce")


class ChangeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"example": {"reason": "points"}}
    )
    reason: str | None = Field(
        default=None, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$", description="why (no personal data)"
    )


class RevokeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"example": {"reason": "court order 2026-118"}}
    )
    reason: str = Field(
        min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$", description="why (no personal data)"
    )


class ChangeResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "city": "cn-qingdao",
                "document_number": "QD-0001",
                "status_list": 1,
                "status_idx": 104217,
                "before": "valid",
                "state": "suspended",
                "changed": True,
            }
        }
    )
    city: str
    document_number: str
    status_list: int
    status_idx: int
    before: str
    state: str
    changed: bool


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"example": {"valid_hours": 48}})
    valid_hours: int = Field(default=48, ge=1, le=744, description="hours until the lists expire")


class PublishedStatusList(BaseModel):
    list_id: int
    uri: str
    sequence: int
    issued: str | None = None
    expires: str | None = None
    size: int
    revoked: int | None = None
    suspended: int | None = None
    data: str = Field(description="the signed Status List Token, base64")


STATUS_LIST_EXAMPLE: dict[str, Any] = {
    "list_id": 1,
    "uri": "urn:edl:status:cn-qingdao:1",
    "sequence": 7,
    "issued": "2026-12-06T05:00:00Z",
    "expires": "2026-12-08T05:00:00Z",
    "size": 150000,
    "revoked": 3,
    "suspended": 1,
    "data": "<base64 COSE_Sign1>",
}


class PublishResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"example": {"city": "cn-qingdao", "lists": [STATUS_LIST_EXAMPLE]}}
    )
    city: str
    lists: list[PublishedStatusList]


class PublicMaterial(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "city": "cn-qingdao",
                "name": "Qingdao",
                "country": "CN",
                "root_certificates": ["-----BEGIN CERTIFICATE-----\n..."],
                "document_signer_certificates": ["-----BEGIN CERTIFICATE-----\n..."],
                "status_signer_certificates": ["-----BEGIN CERTIFICATE-----\n..."],
                "status_lists": [STATUS_LIST_EXAMPLE],
            }
        }
    )
    city: str
    name: str
    country: str
    root_certificates: list[str]
    document_signer_certificates: list[str]
    status_signer_certificates: list[str]
    status_lists: list[PublishedStatusList] = Field(description="as last published (none before the first)")
