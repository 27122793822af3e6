"""Police liaison: referrals to the police unit (basisteam) of the case's municipality."""
