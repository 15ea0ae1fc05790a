<?php
// The old site's cart: POST item=NAME adds one; GET shows the session as PHP sees it.
require __DIR__ . '/profile.php';
session_start();
if ($_SERVER['REQUEST_METHOD'] === 'POST' && ($_POST['item'] ?? '') !== '') {
    $_SESSION['cart'][] = $_POST['item'];
}
header('Content-Type: text/plain');
echo 'user: ', $_SESSION['user'] ?? '', "\n";
echo 'profile: ', isset($_SESSION['profile']) ? $_SESSION['profile']->name : '', "\n";
echo 'cart: ', implode(',', $_SESSION['cart'] ?? []), "\n";
echo 'visits: ', $_SESSION['visits'] ?? 0, "\n";
