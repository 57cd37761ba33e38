-- Subscribe this session to the changes of cases (migration 10: channel gw_cases)
LISTEN gw_cases
