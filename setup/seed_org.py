"""Seed moto with an AWS Organization for the local try-out of `fedsync sync`.

`seed`: an Organization with two member accounts; in each account (and the management account) a
SAML provider whose metadata is generated here for a throwaway "Entra app" certificate, and a few
roles: some trust the provider, one trusts only EC2. Prints the settings fedsync needs.
`change`: adds a role in one member account and deletes another, so a second sync has work.
`federation`: for `--credential aws-federation`, through the fake outbound identity federation in
front of moto (--endpoint): enables it in the management account, creates the task role
`fedsync-task` and assumes it, and writes a Graph emulator seed (--graph-seed into --out) whose
sync app has no secret, only a federated identity credential naming that issuer, role and
audience. Prints the issuer, the role and the task's AWS keys.

Uses boto3 and cryptography, which moto[server] brings into the venv. Talks only to --endpoint.
"""

import argparse
import base64
import datetime
import hashlib
import json
import sys

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

TENANT = "72f988bf-0000-4000-8000-00000000a001"
ENTITY_ID = f"https://sts.windows.net/{TENANT}/"
METADATA = """<?xml version="1.0" encoding="utf-8"?>
<EntityDescriptor ID="_fedsync-try-out" entityID="{entity}" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">
  <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo>
    </KeyDescriptor>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://login.microsoftonline.com/{tenant}/saml2"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""


def client(service, endpoint, creds=None):
    kw = dict(endpoint_url=endpoint, region_name="us-east-1")
    if creds:
        kw.update(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kw)


def iam_in(endpoint, account, management):
    if account == management:
        return client("iam", endpoint)
    creds = client("sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/seeder", RoleSessionName="seeder")["Credentials"]
    return client("iam", endpoint, creds)


def metadata():
    """A throwaway signing certificate and Entra-style metadata for it; returns (xml, sha256)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Azure Federated SSO Certificate")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=365)).sign(key, hashes.SHA256()))
    der = cert.public_bytes(serialization.Encoding.DER)
    xml = METADATA.format(entity=ENTITY_ID, cert=base64.b64encode(der).decode(), tenant=TENANT)
    return xml, hashlib.sha256(der).hexdigest()


def trust(provider):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithSAML",
        "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]})


def seed(endpoint):
    org = client("organizations", endpoint)
    management = org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
    accounts = {"management": management}
    for name in ["production", "development"]:
        accounts[name] = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
    xml, thumbprint = metadata()
    roles = {"management": ["Admin"], "production": ["Admin", "ReadOnly"], "development": ["Developer", "team/Ops"]}
    for name, account in accounts.items():
        iam = iam_in(endpoint, account, management)
        provider = iam.create_saml_provider(SAMLMetadataDocument=xml, Name="AzureAD")["SAMLProviderArn"]
        for role in roles[name]:
            path, _, role_name = role.rpartition("/")
            iam.create_role(RoleName=role_name, Path=f"/{path}/" if path else "/", AssumeRolePolicyDocument=trust(provider))
        iam.create_role(RoleName="Ec2Worker", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    client("s3", endpoint).create_bucket(Bucket="fedsync-try-out-backups")
    print(f"FEDSYNC_SAML_ENTITY_ID={ENTITY_ID}")
    print(f"FEDSYNC_SAML_CERTIFICATES={thumbprint}")
    print(f"TRY_OUT_DEVELOPMENT={accounts['development']}")


def change(endpoint, account):
    management = client("sts", endpoint).get_caller_identity()["Account"]
    iam = iam_in(endpoint, account, management)
    provider = iam.list_saml_providers()["SAMLProviderList"][0]["Arn"]
    iam.create_role(RoleName="DataScientist", AssumeRolePolicyDocument=trust(provider))
    iam.delete_role(RoleName="Developer")
    print(f"in account {account}: added role DataScientist, deleted role Developer", file=sys.stderr)


def federation(endpoint, graph_seed, out):
    iam = client("iam", endpoint)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    role = iam.create_role(RoleName="fedsync-task", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    keys = client("sts", endpoint).assume_role(RoleArn=role, RoleSessionName="try-out-task")["Credentials"]
    with open(graph_seed) as f:
        seed_doc = json.load(f)
    sync_app = seed_doc["clients"][0]
    del sync_app["client_secret"]
    sync_app["federated_identity_credentials"] = [{
        "name": "fedsync-task", "issuer": issuer, "subject": role, "audiences": ["api://AzureADTokenExchange"]}]
    with open(out, "w") as f:
        json.dump(seed_doc, f, indent=2)
    print(f"TRY_OUT_ISSUER={issuer}")
    print(f"TRY_OUT_TASK_ROLE={role}")
    print(f"AWS_ACCESS_KEY_ID={keys['AccessKeyId']}")
    print(f"AWS_SECRET_ACCESS_KEY={keys['SecretAccessKey']}")
    print(f"AWS_SESSION_TOKEN={keys['SessionToken']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["seed", "change", "federation"])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--account")
    parser.add_argument("--graph-seed")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.action == "seed":
        seed(args.endpoint)
    elif args.action == "change":
        change(args.endpoint, args.account)
    else:
        federation(args.endpoint, args.graph_seed, args.out)
