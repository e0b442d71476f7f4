// Package serviceplatformen asks the national registers through KOMBIT's
// Serviceplatformen who a CPR or CVR number belongs to and whether they can
// receive Digital Post:
//
//   - SF1601 PostForespoerg (REST): GET …/PostForespoerg_1/digitalpost
//     ?cprNumber= or ?cvrNumber= → {"result": true|false}, called with a
//     holder-of-key access token over mutual TLS;
//   - SF1520 PersonBaseDataExtended/4 PersonLookup (SOAP 1.1 over mutual
//     TLS with an InvocationContext): the citizen's name, address and name
//     and address protection (adressebeskyttelse);
//   - SF1530 CVROnline/1 getLegalUnit (SOAP 1.1, same transport): a
//     company's name and official address.
//
// Tokens come from the access-control STS's REST WS-Trust Issue endpoint,
// asked over mutual TLS with the organisation's OCES3 certificate (which
// proves possession of the key the assertion is bound to, so the request
// needs no XML signature), then exchanged at AccessTokenService_1 for an
// access token; both are cached until shortly before they expire.
//
// Every failure — timeout, 5xx, malformed reply, SOAP fault, token
// failure — is an error, never an answer: a recipient is only ever called
// reachable by Digital Post on an explicit {"result": true}.
package serviceplatformen
