JANE = {"campaignId": "HXZ", "firstName": "Jane", "lastName": "Smith", "email": "jane@example.com",
        "phone": "+12125550101", "questionnaire": [{"key": "vehicle_year", "question": "Year?", "answer": 2019}]}


def test_a_submitted_lead_is_delivered(leadsail_sandbox):   # a fresh tenant of its own, every test
    lead = leadsail_sandbox.api.post("/api/v1/leads/submit", json=JANE).json()["data"]
    assert lead["status"] == "pending"
    leadsail_sandbox.control.clock.advance(seconds=10)      # manual clock: time moves when told
    lead = leadsail_sandbox.api.get(f"/api/v1/leads/{lead['leadId']}").json()["data"]
    assert lead["status"] == "delivered"
