"""The officer's page over TestClient: one city with a status list, a trust list (1-of-1
operator), bundles, and licences in phones' wallets; the app's clock is fixed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from edl.bundle import build_bundle
from edl.cose import KeySigner
from edl.credentials import issue_licence
from edl.demo import make_portrait
from edl.issue import DocumentSigner
from edl.model import Licence
from edl.status import status_uri
from edl.trust import sign_root
from edl.wallet import Wallet
from edltest import NOW, City, licence_json, make_city
from statustest import PublishedTrustList, StatusSigner, make_status_signer_for, publish_trust_list, token
from verifier_app.main import create_app
from verifier_app.settings import Settings

SOON = NOW + dt.timedelta(seconds=5)
VALID_INDEX = 5
REVOKED_INDEX = 412  # revoked in statustest.sample_list


@dataclass(frozen=True)
class World:
    qingdao: City
    published: PublishedTrustList
    status_signer: StatusSigner
    valid: Wallet
    revoked: Wallet
    stranger: Wallet  # issued by a city that no trust list names

    def bundle(self, sequence: int = 2) -> bytes:
        return build_bundle([self.published.data], [token(self.status_signer, sequence=sequence)])

    @property
    def root(self) -> bytes:
        return sign_root(self.published.root, [self.published.op])


def wallet_for(city: City, *, index: int | None, city_id: str = "cn-qingdao") -> Wallet:
    phone = ec.generate_private_key(ec.SECP256R1())
    issued = issue_licence(
        Licence.from_json(licence_json(portrait=make_portrait())),
        city=city_id,
        device_key=phone.public_key(),
        signer=DocumentSigner(KeySigner(city.ds_key), city.ds),
        now=NOW,
        status=None if index is None else (1, index),
        status_uri=None if index is None else status_uri(city_id, 1),
    )
    w = Wallet(phone)
    w.add(issued.compact, issued.thumbnail)
    return w


@pytest.fixture(scope="session")
def world() -> World:
    qingdao = make_city("Qingdao", "CN")
    published = publish_trust_list({"cn-qingdao": (qingdao, "CN")})
    return World(
        qingdao=qingdao,
        published=published,
        status_signer=make_status_signer_for(qingdao),
        valid=wallet_for(qingdao, index=VALID_INDEX),
        revoked=wallet_for(qingdao, index=REVOKED_INDEX),
        stranger=wallet_for(make_city("Nowhere", "CN"), index=None, city_id="cn-nowhere"),
    )


def make_client(
    tmp_path: Path,
    world: World,
    *,
    bundle: bytes | None = None,
    trust_list: bool = False,
    home: Path | None = None,
) -> TestClient:
    tmp_path.mkdir(parents=True, exist_ok=True)
    root = tmp_path / "operator-root.cbor"
    root.write_bytes(world.root)
    kwargs: dict = {"home": home or tmp_path / "home", "trust_roots": (root,)}
    if trust_list:
        (tmp_path / "trust-list.cbor").write_bytes(world.published.data)
        kwargs["trust_list"] = tmp_path / "trust-list.cbor"
    else:
        (tmp_path / "bundle.cbor").write_bytes(bundle or world.bundle())
        kwargs["bundle"] = tmp_path / "bundle.cbor"
    return TestClient(create_app(Settings(**kwargs), clock=lambda: SOON))


@pytest.fixture
def client(tmp_path, world) -> TestClient:
    return make_client(tmp_path, world)
